# results/schema.json -> ${CMAKE_BINARY_DIR}/generated/schema/{metrics,row_fields}.h
#
# The schema file is the one owner of metric names and runs.jsonl fields
# (results/README.md); C++ takes them only from these generated headers,
# Python (analysis/schema.py) reads the JSON itself. Generated at configure
# time; editing schema.json re-runs the configure step.

set(FAULTLINE_SCHEMA_JSON ${CMAKE_SOURCE_DIR}/results/schema.json)
set(FAULTLINE_GENERATED_DIR ${CMAKE_BINARY_DIR}/generated)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${FAULTLINE_SCHEMA_JSON})
file(READ ${FAULTLINE_SCHEMA_JSON} _schema)

# snake_case -> CamelCase ("bpf_ra_pages" -> "BpfRaPages").
function(_faultline_camel out name)
  string(REPLACE "_" ";" parts "${name}")
  set(result "")
  foreach(p IN LISTS parts)
    string(SUBSTRING "${p}" 0 1 head)
    string(SUBSTRING "${p}" 1 -1 tail)
    string(TOUPPER "${head}" head)
    string(APPEND result "${head}${tail}")
  endforeach()
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

# A C++ string literal body.
function(_faultline_cstr out text)
  string(REPLACE "\\" "\\\\" text "${text}")
  string(REPLACE "\"" "\\\"" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

function(_faultline_get out)
  string(JSON value ERROR_VARIABLE err GET "${_schema}" ${ARGN})
  if(err)
    message(FATAL_ERROR "results/schema.json: ${err}")
  endif()
  if(value STREQUAL "null")
    set(value "")
  endif()
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# Written only when the text changed, so a reconfigure rebuilds nothing.
function(_faultline_write name text)
  file(WRITE ${FAULTLINE_GENERATED_DIR}/schema/${name}.tmp "${text}")
  configure_file(${FAULTLINE_GENERATED_DIR}/schema/${name}.tmp
                 ${FAULTLINE_GENERATED_DIR}/schema/${name} COPYONLY)
endfunction()

_faultline_get(_version schema_version)
set(_header "// Generated from results/schema.json by cmake/schema.cmake: do not edit.\n")

# ---- metrics.h --------------------------------------------------------------
set(_m "${_header}#pragma once\n\n#include <string_view>\n\nnamespace faultline::metric {\n\n")
string(JSON _n LENGTH "${_schema}" metrics)
math(EXPR _last "${_n} - 1")
set(_table "")
set(_seen "")
foreach(i RANGE ${_last})
  _faultline_get(name metrics ${i} name)
  if(NOT name MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "results/schema.json: metric '${name}' is not snake_case")
  endif()
  if(name IN_LIST _seen)
    message(FATAL_ERROR "results/schema.json: metric '${name}' is listed twice")
  endif()
  list(APPEND _seen ${name})
  foreach(key unit scope family better doc)
    _faultline_get(${key} metrics ${i} ${key})
  endforeach()
  string(JSON _has_scope ERROR_VARIABLE err GET "${_schema}" scopes ${scope})
  string(JSON _has_family ERROR_VARIABLE err2 GET "${_schema}" families ${family})
  if(err OR err2)
    message(FATAL_ERROR "results/schema.json: metric '${name}': unknown scope '${scope}' or family '${family}'")
  endif()
  _faultline_camel(camel ${name})
  _faultline_cstr(doc "${doc}")
  string(APPEND _m "// ${unit}, ${scope}, ${family}\ninline constexpr std::string_view k${camel} = \"${name}\";\n")
  string(APPEND _table "    {\"${name}\", \"${unit}\", \"${scope}\", \"${family}\", \"${better}\",\n     \"${doc}\"},\n")
endforeach()

string(JSON _np LENGTH "${_schema}" metric_prefixes)
math(EXPR _plast "${_np} - 1")
set(_ptable "")
foreach(i RANGE ${_plast})
  _faultline_get(prefix metric_prefixes ${i} prefix)
  foreach(key unit scope family better doc)
    _faultline_get(${key} metric_prefixes ${i} ${key})
  endforeach()
  string(REGEX REPLACE "_$" "" stem "${prefix}")
  _faultline_camel(camel ${stem})
  _faultline_cstr(doc "${doc}")
  string(APPEND _m "inline constexpr std::string_view k${camel}Prefix = \"${prefix}\";\n")
  string(APPEND _ptable "    {\"${prefix}\", \"${unit}\", \"${scope}\", \"${family}\", \"${better}\",\n     \"${doc}\"},\n")
endforeach()

set(_families "")
string(JSON _nf LENGTH "${_schema}" families)
math(EXPR _flast "${_nf} - 1")
foreach(i RANGE ${_flast})
  string(JSON fam MEMBER "${_schema}" families ${i})
  _faultline_get(fdoc families ${fam})
  _faultline_cstr(fdoc "${fdoc}")
  string(APPEND _families "    {\"${fam}\", \"${fdoc}\"},\n")
endforeach()

string(APPEND _m "
// Every metric (name, unit, scope, probe family, better: lower/higher/\"\", doc).
struct Info {
  std::string_view name, unit, scope, family, better, doc;
};
inline constexpr Info kAll[] = {
${_table}};
// Metric names made of a prefix and a user's word (perf_<event>).
inline constexpr Info kPrefixes[] = {
${_ptable}};
struct Family {
  std::string_view name, doc;
};
inline constexpr Family kFamilies[] = {
${_families}};

// The schema's entry for a metric name (a prefixed name finds its prefix's
// entry); nullptr when the schema does not know it.
constexpr const Info* find(std::string_view name) {
  for (const Info& m : kAll)
    if (m.name == name) return &m;
  for (const Info& p : kPrefixes)
    if (name.size() > p.name.size() && name.substr(0, p.name.size()) == p.name) return &p;
  return nullptr;
}

}  // namespace faultline::metric
")
_faultline_write(metrics.h "${_m}")

# ---- row_fields.h -----------------------------------------------------------
set(_r "${_header}#pragma once\n\n#include <string_view>\n\nnamespace faultline::harness::runs {\n\n")
string(APPEND _r "inline constexpr int kSchemaVersion = ${_version};\n")
string(JSON _nv LENGTH "${_schema}" readable_versions)
math(EXPR _vlast "${_nv} - 1")
set(_versions "")
foreach(i RANGE ${_vlast})
  _faultline_get(v readable_versions ${i})
  string(APPEND _versions "${v}, ")
endforeach()
string(APPEND _r "inline constexpr int kReadableVersions[] = {${_versions}};\n\n")
foreach(list statuses caches)
  string(JSON _nl LENGTH "${_schema}" ${list})
  math(EXPR _llast "${_nl} - 1")
  set(items "")
  foreach(i RANGE ${_llast})
    _faultline_get(v ${list} ${i})
    string(APPEND items "\"${v}\", ")
  endforeach()
  _faultline_camel(camel ${list})
  string(APPEND _r "inline constexpr std::string_view k${camel}[] = {${items}};\n")
endforeach()
string(APPEND _r "\n// Row field names.\nnamespace field {\n")
string(JSON _nr LENGTH "${_schema}" row_fields)
math(EXPR _rlast "${_nr} - 1")
set(_ftable "")
foreach(i RANGE ${_rlast})
  _faultline_get(name row_fields ${i} name)
  _faultline_get(type row_fields ${i} type)
  _faultline_get(doc row_fields ${i} doc)
  string(JSON _nvv LENGTH "${_schema}" row_fields ${i} versions)
  math(EXPR _vvlast "${_nvv} - 1")
  set(mask 0)
  foreach(j RANGE ${_vvlast})
    _faultline_get(v row_fields ${i} versions ${j})
    math(EXPR mask "${mask} | (1 << ${v})")
  endforeach()
  string(JSON _optional ERROR_VARIABLE _no_optional GET "${_schema}" row_fields ${i} optional)
  if(_no_optional OR NOT _optional STREQUAL "ON")
    set(_optional "false")
  else()
    set(_optional "true")
  endif()
  _faultline_camel(camel ${name})
  _faultline_cstr(doc "${doc}")
  string(APPEND _r "inline constexpr const char* k${camel} = \"${name}\";  // ${type}\n")
  string(APPEND _ftable "    {\"${name}\", \"${type}\", ${mask}, ${_optional}},\n")
endforeach()
string(APPEND _r "}  // namespace field

// Every row field: its name, its type (the validator's vocabulary:
// results/schema.json), the schema versions that have it (bit v set) and
// whether a row may leave it out (\"optional\": true).
struct FieldInfo {
  std::string_view name, type;
  unsigned versions;
  bool optional;
};
inline constexpr FieldInfo kFields[] = {
${_ftable}};

}  // namespace faultline::harness::runs
")
_faultline_write(row_fields.h "${_r}")
include_directories(${FAULTLINE_GENERATED_DIR})
