# Fails when a broker module includes against the dependency direction
# (DESIGN.md): storage below metadata below replication below server, and
# nothing below the server speaks a wire protocol or reaches into a module
# above it. Run in script mode on every build by the `check_includes`
# target (broker/CMakeLists.txt):
#
#   cmake -DSOURCE_DIR=<repo> -P broker/check_includes.cmake
#
# A rule: a folder under broker/, and regular expressions its sources'
# #include lines must not match.
set(_rules
  "storage|broker/(metadata|replication|server)/|strata/(v1|internal)/|grpc|rocksdb|raft/node/"
  "common|broker/(storage|metadata|replication|server)/|strata/(v1|internal)/|grpc|rocksdb"
  "metadata|broker/(replication|server)/|grpc|rocksdb|raft/node/"
  "replication|broker/server/|rocksdb|raft/node/")

set(_failures "")
foreach(_rule IN LISTS _rules)
  string(FIND "${_rule}" "|" _bar)
  string(SUBSTRING "${_rule}" 0 ${_bar} _module)
  math(EXPR _from "${_bar} + 1")
  string(SUBSTRING "${_rule}" ${_from} -1 _forbidden)
  file(GLOB _sources "${SOURCE_DIR}/broker/${_module}/*.h" "${SOURCE_DIR}/broker/${_module}/*.cc")
  foreach(_path IN LISTS _sources)
    file(STRINGS "${_path}" _includes REGEX "^[ \t]*#[ \t]*include")
    foreach(_inc IN LISTS _includes)
      if(_inc MATCHES "${_forbidden}")
        string(REPLACE "${SOURCE_DIR}/" "" _rel "${_path}")
        list(APPEND _failures "${_rel}: '${_inc}' goes against the module direction of broker/${_module}")
      endif()
    endforeach()
  endforeach()
endforeach()
if(_failures)
  list(JOIN _failures "\n  " _text)
  message(FATAL_ERROR "Backwards includes (see DESIGN.md, 'Modules and dependency direction'):\n  ${_text}")
endif()
