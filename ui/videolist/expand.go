package videolist

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// mediaExtensions are the file name extensions (lower case, without the
// dot) of the videos and images FaceMirror offers to open.
var mediaExtensions = [...]string{
	"mp4", "mov", "avi", "mkv", "mpg", "mpeg", "m4v", "webm", "wmv",
	"jpg", "jpeg", "png", "bmp", "tif", "tiff",
}

// Extensions returns the file name extensions (lower case, without the dot)
// of the videos and images FaceMirror offers to open.
func Extensions() []string { return append([]string(nil), mediaExtensions[:]...) }

// IsMedia reports whether name has one of Extensions, in any letter case.
func IsMedia(name string) bool {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(name), "."))
	for _, e := range mediaExtensions {
		if ext == e {
			return true
		}
	}
	return false
}

// Expand turns dropped or chosen paths into the files to add. A folder is
// replaced by the videos and images inside it and its subfolders, folder by
// folder in name order, skipping hidden files and folders (such as macOS
// "._name.mp4" companions). Any other path is kept as given, whatever its
// extension or even when it does not exist, so that a wrong or misnamed
// file is reported with its specific error instead of being silently
// ignored. problems holds folders that could not be read or that held no
// videos or images.
func Expand(paths []string) (files []string, problems []error) {
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil || !info.IsDir() {
			files = append(files, p)
			continue
		}
		found, errs := mediaIn(p)
		problems = append(problems, errs...)
		if len(found) == 0 && len(errs) == 0 {
			problems = append(problems, fmt.Errorf("folder %s holds no videos or images (%s)", p, strings.Join(mediaExtensions[:], ", ")))
		}
		files = append(files, found...)
	}
	return files, problems
}

// mediaIn lists the media files under dir. An unreadable subfolder is
// reported and skipped rather than ending the walk.
func mediaIn(dir string) (found []string, problems []error) {
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			problems = append(problems, fmt.Errorf("read folder %s: %w", path, err))
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		hidden := path != dir && strings.HasPrefix(d.Name(), ".")
		switch {
		case d.IsDir() && hidden:
			return filepath.SkipDir
		case d.IsDir() || hidden:
			return nil
		case IsMedia(d.Name()):
			found = append(found, path)
		}
		return nil
	})
	return found, problems
}
