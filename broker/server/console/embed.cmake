# Writes ${OUT}: the console's files (${SRC}/index.html, console.js,
# console.css) as C++ raw strings in server::kConsoleAssets, so that
# strata-server serves them with no files beside it. Run at build time by
# broker/CMakeLists.txt whenever one of them changes.
# file|path|content type (charset=utf-8 is added: a ';' would split the list)
set(_assets
  "index.html|/|text/html"
  "console.js|/console.js|text/javascript"
  "console.css|/console.css|text/css")
set(_body "// Generated from broker/server/console/ by embed.cmake; do not edit.\n")
string(APPEND _body "#include \"broker/server/console_api.h\"\n\nnamespace strata::server {\n\n")
string(APPEND _body "const ConsoleAsset kConsoleAssets[] = {\n")
set(_count 0)
foreach(_asset IN LISTS _assets)
  string(REPLACE "|" ";" _parts "${_asset}")
  list(GET _parts 0 _file)
  list(GET _parts 1 _path)
  list(GET _parts 2 _type)
  file(READ "${SRC}/${_file}" _content)
  string(FIND "${_content}" ")strata_asset\"" _clash)
  if(NOT _clash EQUAL -1)
    message(FATAL_ERROR "${SRC}/${_file} holds the raw string's delimiter")
  endif()
  string(APPEND _body
         "    {\"${_path}\", \"${_type}; charset=utf-8\", R\"strata_asset(${_content})strata_asset\"},\n")
  math(EXPR _count "${_count} + 1")
endforeach()
string(APPEND _body "};\nconst int kConsoleAssetCount = ${_count};\n\n}  // namespace strata::server\n")
file(WRITE "${OUT}.tmp" "${_body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
