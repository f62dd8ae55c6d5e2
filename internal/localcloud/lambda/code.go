package lambda

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// codeSource reads the code of CreateFunction/UpdateFunctionCode: ZipFile in the request
// (direct) or an object of the local S3. r.mu must be held.
func (r *Room) codeSource(q *core.Request, zipFile []byte, bucket, key, image string) (data []byte, direct, ok bool) {
	switch {
	case image != "":
		invalidParam(q, "localcloud accepts code as ZipFile or S3Bucket/S3Key only (no container images)")
		return nil, false, false
	case bucket != "" && len(zipFile) > 0:
		invalidParam(q, "Please do not provide other FunctionCode parameters when providing a ZipFile.")
		return nil, false, false
	case bucket != "":
		data, ok := r.codeFromS3(q, bucket, key)
		return data, false, ok
	case key != "":
		invalidParam(q, "Please provide a source for function code.")
		return nil, false, false
	}
	return zipFile, true, true
}

// storeZip validates a zip, stores it by hash and returns CodeSha256 (base64) and size.
// direct: the zip came in the request (ZipFile), where Lambda's 50 MB limit applies; code
// from S3 is limited by its unzipped size only.
func (r *Room) storeZip(q *core.Request, data []byte, direct bool) (sha string, size int64, ok bool) {
	if len(data) == 0 {
		invalidParam(q, "Uploaded file must be a non-empty zip")
		return "", 0, false
	}
	if direct && len(data) > MaxZipDirect {
		lambdaError(q, http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", fmt.Sprintf("Request must be smaller than %d bytes for the %s operation", MaxZipDirect*4/3, q.Op))
		return "", 0, false
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		invalidParam(q, "Could not unzip uploaded file. Please check your file, then try to upload again.")
		return "", 0, false
	}
	var unzipped uint64
	for _, f := range zr.File {
		unzipped += f.UncompressedSize64
	}
	if unzipped > maxUnzipped {
		invalidParam(q, fmt.Sprintf("Unzipped size must be smaller than %d bytes", maxUnzipped))
		return "", 0, false
	}
	sum := sha256.Sum256(data)
	path := r.zipPath(hex.EncodeToString(sum[:]))
	if _, err := os.Stat(path); err != nil {
		if err := core.WriteFileAtomic(path, data); err != nil {
			lambdaError(q, http.StatusInternalServerError, "ServiceException", "store code: "+err.Error())
			return "", 0, false
		}
	}
	return base64.StdEncoding.EncodeToString(sum[:]), int64(len(data)), true
}

func (r *Room) zipPath(hexSha string) string {
	return r.cloud.Path("code", hexSha+".zip")
}

func shaHex(b64 string) string {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "invalid"
	}
	return hex.EncodeToString(b)
}

// gcZipsLocked removes stored zips no function version refers to.
func (r *Room) gcZipsLocked() {
	keep := map[string]bool{}
	for _, f := range r.st.Functions {
		keep[shaHex(f.Latest.Config.CodeSha256)] = true
		for _, v := range f.Versions {
			keep[shaHex(v.Config.CodeSha256)] = true
		}
	}
	ents, _ := os.ReadDir(r.cloud.Path("code"))
	for _, e := range ents {
		h := strings.TrimSuffix(e.Name(), ".zip")
		if strings.HasSuffix(e.Name(), ".zip") && !keep[h] {
			_ = os.Remove(r.cloud.Path("code", e.Name()))
			r.exec.dropTask(h)
		}
	}
}

// codeFromS3 reads a function's code from the local S3 for CreateFunction/UpdateFunctionCode,
// answering as Lambda does when it cannot.
func (r *Room) codeFromS3(q *core.Request, bucket, key string) ([]byte, bool) {
	if key == "" {
		invalidParam(q, "Please provide a source for function code.")
		return nil, false
	}
	if r.objects == nil {
		invalidParam(q, "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist")
		return nil, false
	}
	data, err := r.objects.ReadObject(q.Region, bucket, key)
	var oe *core.ObjectError
	switch {
	case errors.As(err, &oe):
		invalidParam(q, "Error occurred while GetObject. S3 Error Code: "+oe.Code+". S3 Error Message: "+oe.Message)
		return nil, false
	case err != nil:
		lambdaError(q, http.StatusInternalServerError, "ServiceException", "localcloud: read object: "+err.Error())
		return nil, false
	}
	return data, true
}
