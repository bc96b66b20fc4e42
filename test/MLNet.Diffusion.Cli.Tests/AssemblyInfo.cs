// The commands share process-wide libtorch state: run the tests one at a time.
[assembly: DoNotParallelize]
