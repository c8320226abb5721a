package client

import "context"

func wait(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}
