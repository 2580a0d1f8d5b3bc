# Runs `test_cuda_emulator --race` (a ThreadSanitizer build) and checks that TSan reports the
# missing __syncthreads as a data race naming the kernel and, through the emulator's fiber
# names, its block and threads.  cmake -DPROGRAM=... -P check_race_report.cmake
set(ENV{TSAN_OPTIONS} "halt_on_error=0:exitcode=0")
execute_process(COMMAND ${PROGRAM} --race OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
set(report "${out}${err}")
foreach(fragment "WARNING: ThreadSanitizer: data race" "reverse_without_barrier"
                 "kernel reverse_without_barrier, block (0,0,0), thread (")
  string(FIND "${report}" "${fragment}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the race report lacks '${fragment}':\n${report}")
  endif()
endforeach()
message(STATUS "ThreadSanitizer reported the missing barrier:\n${report}")
