build-dev/obj/plugins/irc/ircrate.o: plugins/irc/ircrate.c \
 common/common.h plugins/irc/ircrate.h common/breaker.h
common/common.h:
plugins/irc/ircrate.h:
common/breaker.h:
