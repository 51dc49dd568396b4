# arca: copies one of etcd's .proto files with the Go-only decorations removed.
#
# etcd's protos import gogoproto and google/api/annotations, which protoc for
# C++ neither needs nor has. This drops those imports, every
# `option (gogoproto.*)` (file and field level) and every
# `option (google.api.http) = {...};` block; the messages and services are
# unchanged, so the wire format is etcd's own.
#
# Usage: cmake -DIN=<etcd .proto> -DOUT=<copy> -P strip_proto.cmake
if(NOT IN OR NOT OUT)
  message(FATAL_ERROR "strip_proto.cmake: set -DIN= and -DOUT=")
endif()
file(READ "${IN}" text)
string(REGEX REPLACE "import \"gogoproto/gogo.proto\";" "" text "${text}")
string(REGEX REPLACE "import \"google/api/annotations.proto\";" "" text "${text}")
string(REGEX REPLACE "option \\(gogoproto\\.[a-z_]+\\) = [a-z]+;" "" text "${text}")
# Field options: `[(gogoproto.nullable) = false]` and lists of them.
string(REGEX REPLACE "\\[\\(gogoproto\\.[^]]*\\]" "" text "${text}")
# The blocks may hold one level of nested braces (additional_bindings {...}).
string(REGEX REPLACE "option \\(google\\.api\\.http\\) = {([^{}]|{[^{}]*})*};" "" text
       "${text}")
string(FIND "${text}" "gogoproto" left)
if(NOT left EQUAL -1)
  message(FATAL_ERROR "strip_proto.cmake: gogoproto remains in ${IN}")
endif()
string(FIND "${text}" "google.api" left)
if(NOT left EQUAL -1)
  message(FATAL_ERROR "strip_proto.cmake: google.api remains in ${IN}")
endif()
file(WRITE "${OUT}.tmp" "${text}")
file(RENAME "${OUT}.tmp" "${OUT}")
