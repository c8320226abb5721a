package scratch

func run() { go run() }
