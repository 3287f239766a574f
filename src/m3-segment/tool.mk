# m3-segment: CUDA link flags without commas.  The Makefile's CUDA_LDLIBS gives
# "-Wl-rpath..." (it is expanded before `comma` is defined), and a comma could not work
# there anyway: the value is pasted into an $(if ...) inside TOOL_RULES, where it splits
# the arguments.  -Xlinker says the same with blanks.
CUDA_LDLIBS := $(if $(NVCC),-L$(CUDA_HOME)/lib64 -lcudart -lstdc++ -Xlinker -rpath -Xlinker $(CUDA_HOME)/lib64)
