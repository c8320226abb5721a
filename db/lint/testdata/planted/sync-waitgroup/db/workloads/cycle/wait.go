package cycle

import gosync "sync"

func wait(n int) {
	var wg gosync.WaitGroup
	wg.Add(n)
}
