package web

import (
	"net"

	"golang.org/x/sys/unix"
)

// setNotSentLowat makes the kernel wake a writer blocked on c as soon as
// less than n bytes wait unsent (TCP_NOTSENT_LOWAT), instead of when a
// third of a send buffer that autotuning may have grown to megabytes has
// drained. Then a write deadline measures how fast the client takes the
// response (Limits.SendMinBytes), not how large the buffer grew. Bytes in
// flight are not limited, so throughput is unchanged.
func setNotSentLowat(c net.Conn, n int) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, n)
	})
}
