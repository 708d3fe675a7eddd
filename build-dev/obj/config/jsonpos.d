build-dev/obj/config/jsonpos.o: config/jsonpos.c common/common.h \
 config/jsonpos.h
common/common.h:
config/jsonpos.h:
