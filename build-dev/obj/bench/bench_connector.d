build-dev/obj/bench/bench_connector.o: bench/bench_connector.c \
 plugins/sdk/sdk.h common/common.h
plugins/sdk/sdk.h:
common/common.h:
