build-dev/obj/config/config.o: config/config.c common/common.h \
 config/config.h config/jsonpos.h
common/common.h:
config/config.h:
config/jsonpos.h:
