// The tests share process-wide libtorch state (default generators, thread count): run them one at a time.
[assembly: DoNotParallelize]
