build-dev/obj/plugins/irc/ircmsg.o: plugins/irc/ircmsg.c common/common.h \
 plugins/irc/ircmsg.h
common/common.h:
plugins/irc/ircmsg.h:
