//go:build !linux

package web

import "net"

// setNotSentLowat is Linux's TCP_NOTSENT_LOWAT; elsewhere a write
// deadline also waits for the send buffer to drain in larger steps.
func setNotSentLowat(net.Conn, int) {}
