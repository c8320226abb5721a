package tlog

func idle() {
	select {}
}
