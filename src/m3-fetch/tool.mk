# m3-fetch: links the network library (libcurl, libcrypto), which only m3-fetch and m3-push use.
ifndef NET_LIB
NET_LIB := $(B)/libm3net.a
NET_OBJ := $(patsubst src/%.c,$(B)/%.o,$(wildcard src/net/*.c))
NET_LDLIBS := -lcurl -lcrypto

# the generic compile rule reads M3_CPPFLAGS (not CPPFLAGS), so the include path goes there
$(B)/net/%.o $(B)/m3-fetch/%.o $(B)/m3-push/%.o: M3_CPPFLAGS += -Isrc/net

$(NET_LIB): $(NET_OBJ)
	$(AR) rcs $@ $^

# the signer's test program (AWS's documented example, botocore vectors): tests/cli/t81-push.sh
$(B)/tests/net/sigv4test: tests/integration/sigv4test.c $(NET_LIB) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(M3_CPPFLAGS) -Isrc/net $(M3_CFLAGS) $(CFLAGS) -o $@ $< $(NET_LIB) $(LIB) \
		$(NET_LDLIBS) $(LDLIBS_CORE)

# the MD5 of many messages in vector lanes against libcrypto: tests/integration/run.sh
$(B)/tests/net/md5test: tests/integration/md5test.c $(NET_LIB) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(M3_CPPFLAGS) -Isrc/net $(M3_CFLAGS) $(CFLAGS) -o $@ $< $(NET_LIB) $(LIB) \
		$(NET_LDLIBS) $(LDLIBS_CORE)

all: $(B)/tests/net/sigv4test $(B)/tests/net/md5test
endif

m3-fetch_DEPS := $(NET_LIB)
m3-fetch_LDLIBS := $(NET_LDLIBS)
