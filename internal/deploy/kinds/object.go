package kinds

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/awsapi/s3api"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

// Objects in the stack's bucket are content-addressed (the key holds the content's
// SHA-256): an object under its key is that content, so an upload is made only when the
// key is missing, never repeated, and never updated. Found with the bucket (Bucket.Keys).

// ObjectSpec is a local file to put under Key.
type ObjectSpec struct {
	Bucket, Key string
	File        string // path of the content
	FileHint    string // what to do when File cannot be read ("check the --zip path")
	Bytes       int64
	SHA256      string // base64 SHA-256 of the content: S3 refuses a corrupted upload
	ContentType string
}

// ObjectKind uploads an object (when its key is missing) and deletes objects by key (the
// change's Target).
type ObjectKind struct {
	C        *awsapi.Session
	Spec     ObjectSpec
	Progress io.Writer
}

func (k ObjectKind) Actions() []engine.Action { return []engine.Action{UploadObject, DeleteObject} }

func (k ObjectKind) Create(ctx context.Context, ch engine.Change) error {
	b, key := k.Spec.Bucket, ch.Target
	there, err := k.C.S3().ObjectExists(ctx, b, key)
	if err != nil {
		return err
	}
	if there {
		fmt.Fprintf(k.Progress, "  s3://%s/%s is already there\n", b, key)
		return nil
	}
	f, err := os.Open(k.Spec.File)
	if err != nil {
		return engine.Plain(fmt.Errorf("could not read %s: %v; %s", k.Spec.File, err, k.Spec.FileHint))
	}
	defer f.Close()
	fmt.Fprintf(k.Progress, "  uploading %d bytes to s3://%s/%s...\n", k.Spec.Bytes, b, key)
	_, err = k.C.S3().PutObject(ctx, s3api.Object{Bucket: b, Key: key, Body: f, Length: k.Spec.Bytes,
		ContentType: k.Spec.ContentType, ChecksumSHA256: k.Spec.SHA256})
	return err
}

func (k ObjectKind) Update(ctx context.Context, ch engine.Change) error {
	return engine.Unsupported{}.Update(ctx, ch)
}

func (k ObjectKind) Delete(ctx context.Context, ch engine.Change) error {
	return k.C.S3().DeleteObject(ctx, k.Spec.Bucket, ch.Target)
}
