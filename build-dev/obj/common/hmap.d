build-dev/obj/common/hmap.o: common/hmap.c common/common.h common/hmap.h
common/common.h:
common/hmap.h:
