build-dev/obj/bench/bench_floor.o: bench/bench_floor.c common/common.h
common/common.h:
