// Tests share process-wide state (live tensor count, thread count, default generators): run them one at a time.
[assembly: DoNotParallelize]
