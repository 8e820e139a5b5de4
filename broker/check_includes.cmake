# Fails the build when a module includes against the dependency direction
# (ARCHITECTURE.md):
#
#   client/common < client/record < raft/ < broker/storage < broker/metadata
#     < broker/replication < broker/group < broker/txn < broker/request
#     < broker/server;
#   client/common < broker/purgatory < broker/group;   client/common < client/record < client/
#
# Nothing below broker/server speaks a wire protocol except broker/kafka,
# whose codec of Kafka's binary protocol never sees gRPC, the protos or
# broker/server; client/ reaches into
# neither broker/ nor raft/. A relative include ("../x.h") is refused
# everywhere, so the rules cannot be walked around. Run in script mode on
# every build by the `check_includes` target (broker/CMakeLists.txt):
#
#   cmake -DSOURCE_DIR=<repo> -P broker/check_includes.cmake
#
# A rule: a folder of the repository (its own sources, not its
# sub-folders), and a regular expression its sources' #include lines must
# not match. client/common and client/record have include roots of their
# own as well (client/*/CMakeLists.txt), as raft's core has.
set(_rules
  "client/common|\"(broker|raft|client/record|tools|proto|strata)/|\"client/[a-z_]+\\.h|grpc|rocksdb|absl/|glog/"
  "client/record|\"(broker|raft|tools|proto|strata)/|\"client/[a-z_]+\\.h|grpc|rocksdb"
  "client|\"(broker|raft|tools)/"
  "raft|\"(broker|client/record|tools)/"
  "raft/node|\"(broker|client/record|tools)/"
  "broker/metrics|\"(broker/(security|purgatory|storage|metadata|replication|group|txn|request|server|kafka)|raft|client|tools|proto|strata)/|grpc|rocksdb|glog/"
  "broker/security|\"(broker/(purgatory|storage|metadata|replication|group|txn|request|server|kafka)|raft|tools|proto|strata)/|grpc|rocksdb"
  "client/security|\"(broker|raft|tools|proto|strata)/|\"client/[a-z_]+\\.h|grpc|rocksdb"
  "broker/purgatory|\"(broker/(storage|metadata|replication|group|txn|request|server)|raft|client/record)/|strata/(v1|internal)/|grpc|rocksdb"
  "broker/storage|\"broker/(metadata|replication|txn|request|server)/|strata/(v1|internal)/|grpc|rocksdb|raft/node/"
  "broker/metadata|\"broker/(replication|txn|request|server)/|strata/v1/|grpc|rocksdb|raft/node/"
  "broker/replication|\"broker/(txn|request|server)/|strata/(v1|internal)/|grpc|rocksdb|raft/node/"
  "broker/group|\"broker/(txn|request|server)/|strata/(v1|internal)/|grpc|rocksdb|raft/node/"
  "broker/txn|\"broker/(request|server)/|strata/(v1|internal)/|grpc|rocksdb|raft/node/"
  "broker/request|\"broker/server/|strata/(v1|internal)/|grpc|rocksdb|raft/node/"
  "broker/kafka|\"broker/server/|strata/(v1|internal)/|grpc|rocksdb|raft/node/")

set(_failures "")
file(GLOB_RECURSE _all RELATIVE "${SOURCE_DIR}"
  "${SOURCE_DIR}/broker/*.h" "${SOURCE_DIR}/broker/*.cc"
  "${SOURCE_DIR}/client/*.h" "${SOURCE_DIR}/client/*.cc"
  "${SOURCE_DIR}/raft/*.h" "${SOURCE_DIR}/raft/*.cc"
  "${SOURCE_DIR}/tools/*.h" "${SOURCE_DIR}/tools/*.cc")
foreach(_rel IN LISTS _all)
  file(STRINGS "${SOURCE_DIR}/${_rel}" _includes REGEX "^[ \t]*#[ \t]*include")
  foreach(_inc IN LISTS _includes)
    if(_inc MATCHES "include[ \t]*\"\\.\\./")
      list(APPEND _failures "${_rel}: '${_inc}' is relative; include from the repository root")
    endif()
  endforeach()
endforeach()

foreach(_rule IN LISTS _rules)
  string(FIND "${_rule}" "|" _bar)
  string(SUBSTRING "${_rule}" 0 ${_bar} _module)
  math(EXPR _from "${_bar} + 1")
  string(SUBSTRING "${_rule}" ${_from} -1 _forbidden)
  file(GLOB _sources "${SOURCE_DIR}/${_module}/*.h" "${SOURCE_DIR}/${_module}/*.cc")
  foreach(_path IN LISTS _sources)
    file(STRINGS "${_path}" _includes REGEX "^[ \t]*#[ \t]*include")
    foreach(_inc IN LISTS _includes)
      if(_inc MATCHES "${_forbidden}")
        string(REPLACE "${SOURCE_DIR}/" "" _rel "${_path}")
        list(APPEND _failures "${_rel}: '${_inc}' goes against the module direction of ${_module}/")
      endif()
    endforeach()
  endforeach()
endforeach()
if(_failures)
  list(JOIN _failures "\n  " _text)
  message(FATAL_ERROR "Backwards includes (see ARCHITECTURE.md, 'Modules and the direction of dependencies'):\n  ${_text}")
endif()
