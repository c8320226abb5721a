package grvproxy

func start(run func()) {
	go run()
}
