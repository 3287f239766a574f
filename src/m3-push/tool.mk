# m3-push: shares the network library of src/m3-fetch/tool.mk (defined once, whichever comes first).
include src/m3-fetch/tool.mk

m3-push_DEPS := $(NET_LIB)
m3-push_LDLIBS := $(NET_LDLIBS)
