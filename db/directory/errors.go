package directory

import "errors"

// The directory layer's errors, FoundationDB's (bindings/python/fdb/
// directory_impl.py) as sentinels. Operations wrap them with the path they
// concern; test with errors.Is.
var (
	// ErrNotExist: open, list, remove or move named a directory that does
	// not exist.
	ErrNotExist = errors.New("the directory does not exist")
	// ErrExists: create named a directory that already exists.
	ErrExists = errors.New("the directory already exists")
	// ErrParentNotExist: move's destination has no parent directory.
	ErrParentNotExist = errors.New("the parent of the destination directory does not exist; create it first")
	// ErrDestinationExists: move's destination already exists.
	ErrDestinationExists = errors.New("the destination directory already exists; remove it first")
	// ErrMoveIntoSubdirectory: move's destination is the source or lies
	// inside it.
	ErrMoveIntoSubdirectory = errors.New("the destination directory cannot be a subdirectory of the source directory")
	// ErrCrossPartition: move's source and destination are in different
	// partitions.
	ErrCrossPartition = errors.New("cannot move between partitions")
	// ErrLayerMismatch: open named a layer other than the one the
	// directory was created with.
	ErrLayerMismatch = errors.New("the directory was created with an incompatible layer")
	// ErrRoot: the operation cannot apply to the root directory.
	ErrRoot = errors.New("the root directory cannot be opened, moved or removed")
	// ErrManualPrefix: a prefix was given to a layer that does not allow
	// manual prefixes (partitions never do).
	ErrManualPrefix = errors.New("cannot specify a prefix unless manual prefixes are enabled")
	// ErrPrefixInUse: the given prefix contains, or lies in, another
	// directory's prefix.
	ErrPrefixInUse = errors.New("the given prefix is already in use")
	// ErrPrefixNotEmpty: the allocator chose a prefix under which the
	// database already holds keys, or that a manual prefix overlaps.
	ErrPrefixNotEmpty = errors.New("the database has keys stored at the prefix chosen by the automatic prefix allocator")
	// ErrVersion: the stored directory layer version is newer than this
	// implementation reads (major) or writes (minor).
	ErrVersion = errors.New("incompatible directory layer version")
	// ErrInvalidPath: a path element is not valid UTF-8.
	ErrInvalidPath = errors.New("invalid directory path")
)
