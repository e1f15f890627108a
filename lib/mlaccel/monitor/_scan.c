/*
 * One pass over a numeric column for a drift check: the counts, moments and per-slot counts
 * that the numpy path (mlaccel.monitor._profile, _sketch.Binner) computes in a dozen passes.
 *
 * Optional: mlaccel.monitor._kernel uses it when it was compiled and the numpy path when not;
 * both give the same counts (tests/mlaccel/monitor/test_kernel.py holds them together). It
 * reads Arrow's buffers directly (values, validity bitmap) and releases the GIL, so the
 * check's column threads use every core.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>

/* Slot of a finite value: how many edges lie strictly below it (numpy's searchsorted, side
 * "left"). The uniform table gives the edges of the value's cell; most cells hold at most one
 * edge, answered without a branch (a data-dependent branch mispredicts on every other value). */
static inline Py_ssize_t slot_of(double v, const double *restrict edges, Py_ssize_t n_edges,
                                 const int32_t *restrict below, Py_ssize_t cells, double origin,
                                 double scale)
{
    Py_ssize_t lo = 0, hi = n_edges;
    if (cells > 0) {
        /* The same two roundings as the numpy path, so cells agree with the table's. */
        double position = (v - origin) * scale;
        Py_ssize_t cell;
        if (!(position > 0.0))
            cell = 0;
        else if (position > (double)(cells - 1))
            cell = cells - 1;
        else
            cell = (Py_ssize_t)position;
        lo = (Py_ssize_t)below[cell];
        hi = (Py_ssize_t)below[cell + 1];
        if (hi - lo <= 1) {
            Py_ssize_t at = lo < n_edges ? lo : n_edges - 1;
            return lo + ((hi > lo) & (edges[at] < v));
        }
    }
    while (hi - lo > 8) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (edges[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    while (lo < hi && edges[lo] < v)
        lo++;
    return lo;
}

typedef struct {
    Py_ssize_t present, whole, negative, tails;
    double total, low, high, m2;
} Summary;

static inline int is_valid(const uint8_t *bits, Py_ssize_t i)
{
    return bits == NULL || ((bits[i >> 3] >> (i & 7)) & 1);
}

/* The i-th value as a double, and whether it is present (not null, finite). */
static inline int present(const double *doubles, const int64_t *ints, int is_int,
                          const uint8_t *bits, Py_ssize_t i, double *v)
{
    *v = is_int ? (double)ints[i] : doubles[i];
    return is_valid(bits, i) && isfinite(*v);
}

static void scan(const double *doubles, const int64_t *ints, int is_int,
                 const uint8_t *restrict bits, Py_ssize_t offset, Py_ssize_t length,
                 const double *restrict edges, Py_ssize_t n_edges, const int32_t *restrict below,
                 Py_ssize_t cells, double origin, double scale, double tail_low,
                 double tail_high, int want_whole, int64_t *restrict slots,
                 double *restrict tails, Summary *out)
{
    Summary s = {0, 0, 0, 0, 0.0, INFINITY, -INFINITY, 0.0};
    for (Py_ssize_t i = 0; i < length; i++) {
        double v;
        if (!present(doubles, ints, is_int, bits, offset + i, &v))
            continue;
        s.present++;
        s.total += v;
        s.low = v < s.low ? v : s.low;
        s.high = v > s.high ? v : s.high;
        s.negative += v < 0.0;
        if (want_whole)
            s.whole += v == floor(v);
        slots[slot_of(v, edges, n_edges, below, cells, origin, scale)]++;
        /* Written always, kept when beyond the edges: no branch on the data. */
        tails[s.tails] = v;
        s.tails += (v < tail_low) | (v > tail_high);
    }
    if (s.present > 0) {
        /* Squares about the batch mean, as the numpy path pools them. */
        double mean = s.total / (double)s.present, m2 = 0.0;
        for (Py_ssize_t i = 0; i < length; i++) {
            double v;
            if (!present(doubles, ints, is_int, bits, offset + i, &v))
                continue;
            double d = v - mean;
            m2 += d * d;
        }
        s.m2 = m2;
    }
    *out = s;
}

static int need(Py_buffer *view, Py_ssize_t bytes, const char *what)
{
    if (view->len < bytes) {
        PyErr_Format(PyExc_ValueError, "%s holds %zd bytes, %zd needed", what, view->len, bytes);
        return 0;
    }
    return 1;
}

static PyObject *numeric(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer data = {0}, edges = {0}, below = {0}, slots = {0}, tails = {0}, bits = {0};
    PyObject *validity;
    int is_int, want_whole;
    Py_ssize_t offset, length, cells;
    double origin, scale, tail_low, tail_high;
    if (!PyArg_ParseTuple(args, "y*pnnOy*y*nddddpw*w*", &data, &is_int, &offset, &length,
                          &validity, &edges, &below, &cells, &origin, &scale, &tail_low,
                          &tail_high, &want_whole, &slots, &tails))
        return NULL;
    PyObject *result = NULL;
    int have_bits = validity != Py_None;
    if (have_bits && PyObject_GetBuffer(validity, &bits, PyBUF_SIMPLE) < 0)
        goto done;
    Py_ssize_t n_edges = edges.len / (Py_ssize_t)sizeof(double);
    if (offset < 0 || length < 0 || n_edges < 1 || cells < 0 ||
        !need(&data, (offset + length) * 8, "values") ||
        (have_bits && !need(&bits, (offset + length + 7) / 8, "validity")) ||
        !need(&below, (cells > 0 ? cells + 1 : 0) * 4, "table") ||
        !need(&slots, (n_edges + 1) * 8, "slots") || !need(&tails, length * 8, "tails"))
        goto done;
    Summary s;
    Py_BEGIN_ALLOW_THREADS
    scan((const double *)data.buf, (const int64_t *)data.buf, is_int,
         have_bits ? (const uint8_t *)bits.buf : NULL, offset, length, (const double *)edges.buf,
         n_edges, (const int32_t *)below.buf, cells, origin, scale, tail_low, tail_high,
         want_whole, (int64_t *)slots.buf, (double *)tails.buf, &s);
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("nnnnffff", s.present, s.whole, s.negative, s.tails, s.total, s.low,
                           s.high, s.m2);
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&edges);
    PyBuffer_Release(&below);
    PyBuffer_Release(&slots);
    PyBuffer_Release(&tails);
    if (have_bits)
        PyBuffer_Release(&bits);
    return result;
}

static PyMethodDef methods[] = {
    {"numeric", numeric, METH_VARARGS,
     "numeric(values, is_int, offset, length, validity, edges, table, cells, origin, scale, "
     "tail_low, tail_high, want_whole, slots, tails) -> (present, whole, negative, tails, "
     "total, low, high, m2)\n\nOne pass over a float64 or int64 Arrow column: adds each finite "
     "value to its slot between the edges and copies values outside [tail_low, tail_high] to "
     "tails."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_scan", "Compiled pass of the drift check (optional).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__scan(void) { return PyModule_Create(&module); }
