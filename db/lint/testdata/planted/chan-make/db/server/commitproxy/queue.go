package commitproxy

func queue() any {
	return make(chan int, 16)
}
