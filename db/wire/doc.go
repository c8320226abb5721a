// Package wire defines what Strata processes say to each other on the
// network: protocol versions and their compatibility rule, the frame format
// with its bounded sizes, and the message types (Protocol Buffers, generated
// code committed; see `make proto`).
package wire
