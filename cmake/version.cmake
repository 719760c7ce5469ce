# The one owner of "which build is this": the version of project(VERSION) and
# the git commit, in ${FAULTLINE_GENERATED_DIR}/faultline/version_info.h, read
# only by common/version.cpp (every binary's --version and env.json's
# "faultline" section).
#
# The commit is taken at build time, not at configure time: the target below
# re-runs cmake/write_version.cmake on every build, which rewrites the header
# only when the commit, its dirty state or the date changed (so nothing
# rebuilds otherwise, and a commit after configuring never goes stale).

set(FAULTLINE_VERSION_HEADER ${FAULTLINE_GENERATED_DIR}/faultline/version_info.h)
set(_faultline_version_args
  -DFAULTLINE_SOURCE_DIR=${CMAKE_SOURCE_DIR}
  -DFAULTLINE_VERSION=${PROJECT_VERSION}
  -DFAULTLINE_VERSION_HEADER=${FAULTLINE_VERSION_HEADER})
# Once now, so that a fresh build tree has the header before anything compiles.
execute_process(COMMAND ${CMAKE_COMMAND} ${_faultline_version_args}
  -P ${CMAKE_SOURCE_DIR}/cmake/write_version.cmake)
add_custom_target(faultline_version_info ALL
  COMMAND ${CMAKE_COMMAND} ${_faultline_version_args}
          -P ${CMAKE_SOURCE_DIR}/cmake/write_version.cmake
  BYPRODUCTS ${FAULTLINE_VERSION_HEADER}
  COMMENT "Checking the git commit for --version"
  VERBATIM)
