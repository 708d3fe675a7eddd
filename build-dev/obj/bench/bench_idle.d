build-dev/obj/bench/bench_idle.o: bench/bench_idle.c plugins/sdk/sdk.h \
 common/common.h
plugins/sdk/sdk.h:
common/common.h:
