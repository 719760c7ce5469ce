# cmake -DFUZZER= -DWORK= -DARTIFACTS= -DSEEDS= -DREGRESSIONS= -DSECONDS= -P run_fuzzer.cmake
# Copies the seed corpus to WORK and fuzzes for SECONDS; a crash, leak, hang
# (-timeout), sanitizer report or an allocation over 2 GB (-rss_limit_mb /
# -malloc_limit_mb) makes libFuzzer exit nonzero, and so this test fail.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK} ${ARTIFACTS})
file(GLOB seeds ${SEEDS}/*)
file(COPY ${seeds} DESTINATION ${WORK})
if(EXISTS ${REGRESSIONS})
  file(GLOB regress ${REGRESSIONS}/*)
  if(regress)
    file(COPY ${regress} DESTINATION ${WORK})
  endif()
endif()
get_filename_component(name ${WORK} NAME)
set(log ${ARTIFACTS}/../${name}.log)
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -rss_limit_mb=2048 -malloc_limit_mb=2048
          -timeout=10 -max_len=65536 -print_final_stats=1 -artifact_prefix=${ARTIFACTS}
          ${WORK}
  RESULT_VARIABLE rc OUTPUT_FILE ${log} ERROR_FILE ${log})
file(READ ${log} out)
# scripts/test prints this line from the log.
string(REGEX MATCH "stat::number_of_executed_units: *[0-9]+" units "${out}")
string(REGEX MATCHALL "cov: *[0-9]+ ft: *[0-9]+ corp: *[0-9]+/[0-9]+[a-zA-Z]*" covs "${out}")
list(POP_BACK covs cov)
message(STATUS "fuzz.${name}: ${units} (${cov}) in ${SECONDS} s")
if(NOT rc EQUAL 0)
  message("${out}")
  message(FATAL_ERROR "${FUZZER} found a problem (exit ${rc}); the input is in ${ARTIFACTS}")
endif()
