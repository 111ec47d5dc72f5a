#include <opencv2/core.hpp>

#include "cvparallel.h"

// With one thread, cv::parallel_for_ calls its body directly on the
// calling thread; the TBB pool is never entered.
void facemirror_cv_serial(void) { cv::setNumThreads(1); }

int facemirror_cv_threads(void) { return cv::getNumThreads(); }
