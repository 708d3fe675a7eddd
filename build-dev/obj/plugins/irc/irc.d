build-dev/obj/plugins/irc/irc.o: plugins/irc/irc.c common/common.h \
 plugins/irc/ircmsg.h plugins/irc/ircrate.h common/breaker.h \
 plugins/sdk/sdk.h
common/common.h:
plugins/irc/ircmsg.h:
plugins/irc/ircrate.h:
common/breaker.h:
plugins/sdk/sdk.h:
