#ifdef __cplusplus
extern "C" {
#endif

void facemirror_cv_serial(void);
int facemirror_cv_threads(void);

#ifdef __cplusplus
}
#endif
