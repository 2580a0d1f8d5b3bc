# Runs tapegrad_gradcheck for a CTest test: -DPROGRAM=path "-DARGS=flags" -DRC=status
# "-DEXPECT=regex": the exit status must be RC and the output (stdout and stderr) match EXPECT.
separate_arguments(args UNIX_COMMAND "${ARGS}")
execute_process(COMMAND ${PROGRAM} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
if(NOT rc EQUAL RC)
  message(FATAL_ERROR "${PROGRAM} ${ARGS} exited with ${rc}, expected ${RC}:\n${stdout}\n${stderr}")
endif()
if(NOT "${stdout}${stderr}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "the output of ${PROGRAM} ${ARGS} does not match '${EXPECT}':\n${stdout}\n${stderr}")
endif()
message(STATUS "exit ${rc}\n${stdout}${stderr}")
