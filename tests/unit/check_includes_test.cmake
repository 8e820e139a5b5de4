# Proves that broker/check_includes.cmake fails on includes against the
# module direction (and passes on a tree without them): builds small fake
# source trees under WORK_DIR, runs the check on each, and compares.
#
#   cmake -DCHECK=<repo>/broker/check_includes.cmake -DWORK_DIR=<dir> -P check_includes_test.cmake

function(fake_tree name file include)
  set(root "${WORK_DIR}/${name}")
  file(REMOVE_RECURSE "${root}")
  # A clean baseline every tree shares: each module includes what it may.
  file(WRITE "${root}/client/common/ids.h" "#pragma once\n#include <cstdint>\n")
  file(WRITE "${root}/client/record/record_batch.h" "#include \"client/common/ids.h\"\n")
  file(WRITE "${root}/client/producer.h" "#include \"client/record/record_batch.h\"\n")
  file(WRITE "${root}/raft/raft.h" "#include \"client/common/ids.h\"\n")
  file(WRITE "${root}/broker/storage/log.h" "#include \"client/record/record_batch.h\"\n")
  file(WRITE "${root}/broker/metadata/image.h" "#include \"broker/storage/log.h\"\n")
  file(WRITE "${root}/broker/replication/partition.h" "#include \"broker/metadata/image.h\"\n")
  file(WRITE "${root}/broker/txn/producer_id_manager.h" "#include \"broker/replication/partition.h\"\n")
  file(WRITE "${root}/broker/request/handlers.h"
       "#include \"broker/replication/partition.h\"\n#include \"broker/txn/producer_id_manager.h\"\n")
  file(WRITE "${root}/broker/server/service.h"
       "#include \"broker/request/handlers.h\"\n#include \"strata/v1/broker.grpc.pb.h\"\n")
  if(file)
    file(APPEND "${root}/${file}" "#include ${include}\n")
  endif()
endfunction()

function(expect name should_fail)
  execute_process(COMMAND "${CMAKE_COMMAND}" "-DSOURCE_DIR=${WORK_DIR}/${name}" -P "${CHECK}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(should_fail AND rc EQUAL 0)
    message(FATAL_ERROR "${name}: the backwards include passed the check")
  elseif(NOT should_fail AND NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: a clean tree failed the check:\n${err}")
  endif()
  message(STATUS "${name}: ${rc}")
endfunction()

fake_tree(clean "" "")
expect(clean FALSE)

# Each: (tree name, file that gets the include, the include).
set(cases
  "storage_includes_server|broker/storage/log.h|\"broker/server/service.h\""
  "storage_includes_replication|broker/storage/log.h|\"broker/replication/partition.h\""
  "storage_includes_public_proto|broker/storage/log.h|\"strata/v1/common.pb.h\""
  "metadata_includes_request|broker/metadata/image.h|\"broker/request/handlers.h\""
  "metadata_includes_public_proto|broker/metadata/image.h|\"strata/v1/admin.pb.h\""
  "replication_includes_request|broker/replication/partition.h|\"broker/request/handlers.h\""
  "replication_includes_public_proto|broker/replication/partition.h|\"strata/v1/common.pb.h\""
  "group_includes_server|broker/group/group_metadata.h|\"broker/server/service.h\""
  "txn_includes_request|broker/txn/producer_id_manager.h|\"broker/request/handlers.h\""
  "txn_includes_internal_proto|broker/txn/producer_id_manager.h|\"strata/internal/controller.pb.h\""
  "group_includes_txn|broker/group/group_metadata.h|\"broker/txn/producer_id_manager.h\""
  "metadata_includes_txn|broker/metadata/image.h|\"broker/txn/producer_id_manager.h\""
  "request_includes_server|broker/request/handlers.h|\"broker/server/service.h\""
  "request_includes_grpc|broker/request/handlers.h|<grpcpp/grpcpp.h>"
  "client_includes_broker|client/producer.h|\"broker/storage/log.h\""
  "record_includes_client|client/record/record_batch.h|\"client/producer.h\""
  "common_includes_record|client/common/ids.h|\"client/record/record_batch.h\""
  "raft_includes_broker|raft/raft.h|\"broker/storage/log.h\""
  "relative_include|broker/storage/log.h|\"../server/service.h\"")
foreach(c IN LISTS cases)
  string(REPLACE "|" ";" parts "${c}")
  list(GET parts 0 name)
  list(GET parts 1 file)
  list(GET parts 2 include)
  fake_tree(${name} ${file} "${include}")
  expect(${name} TRUE)
endforeach()
