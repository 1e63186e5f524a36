/*
 * Running GLPK safely: the error guard, the solve, and the optimizer's
 * GLPK-side lifecycle.
 *
 * GLPK reports a fatal error (out of memory, an internal assertion) by
 * printing and calling abort(). glp_error_hook lets us intercept it, but only
 * by a non-local jump out of the hook, after which GLPK's documentation
 * requires glp_free_env(): that frees every GLPK object of the calling
 * thread's environment (GLPK 5.0 keeps it in thread-local storage). So:
 *   - every GLPK call of this module runs inside guarded(), which arms a
 *     setjmp and the hook;
 *   - a thread-local epoch counts the environments freed this way; an
 *     optimizer whose problem object is from an older epoch knows it is
 *     gone (never touches the stale pointer) and rebuilds it from its model
 *     at the next solve, without a basis;
 *   - scratch memory that a guarded call allocates lives in the optimizer
 *     (tmp_*, pending) so the guard frees it on both paths;
 *   - the previous solution is never touched until a solve succeeds.
 * Terminal output is routed to a hook that swallows it and keeps the last
 * lines, so GLPK prints nothing and a fatal error's message reaches |diag|.
 *
 * Thread rule that follows: an optimizer must be used by the thread that
 * created it.
 */
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "controller/optimizer_int.h"

#define GLPK_MSG_MAX 512

static _Thread_local jmp_buf *guard_jmp;          /* armed while a guarded call runs */
static _Thread_local char glpk_msg[GLPK_MSG_MAX]; /* tail of GLPK's last output */
static _Thread_local unsigned env_epoch;          /* environments freed after errors */
static _Thread_local unsigned live_optimizers;    /* to free the environment at the end */

/* Keeps the tail of GLPK's output; returning 1 tells GLPK not to print it. */
static int term_hook(void *info, const char *s)
{
    (void)info;
    size_t have = strlen(glpk_msg), add = strlen(s);
    if (add >= GLPK_MSG_MAX) {
        s += add - (GLPK_MSG_MAX - 1);
        add = GLPK_MSG_MAX - 1;
    }
    if (have + add >= GLPK_MSG_MAX) {
        size_t drop = have + add - (GLPK_MSG_MAX - 1);
        memmove(glpk_msg, glpk_msg + drop, have - drop + 1);
        have -= drop;
    }
    memcpy(glpk_msg + have, s, add + 1);
    return 1;
}

/* GLPK calls this instead of returning from a fatal error; it must not return. */
static void error_hook(void *info)
{
    (void)info;
    longjmp(*guard_jmp, 1);
}

/* Copies GLPK's message as one line (newlines become "; "). */
static void glpk_message(char *dst, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; glpk_msg[i] != '\0' && j + 3 < n; i++) {
        if (glpk_msg[i] == '\n') {
            if (glpk_msg[i + 1] != '\0') {
                dst[j++] = ';';
                dst[j++] = ' ';
            }
        } else {
            dst[j++] = glpk_msg[i];
        }
    }
    dst[j] = '\0';
}

/* Returns 1 when |o->lp| exists in the current environment. */
static int lp_valid(const slate_optimizer *o)
{
    return o->lp != NULL && o->lp_env_epoch == env_epoch;
}

typedef int (*guarded_fn)(slate_optimizer *o, void *arg);

#define GUARD_FATAL 1 /* returned by guarded() after a GLPK fatal error */

/*
 * Runs |fn| with GLPK's fatal errors caught. Returns fn's result, or
 * GUARD_FATAL (with GLPK's message in |msg|) after a fatal error, in which
 * case the environment has been freed and |o->lp| forgotten.
 */
static int guarded(slate_optimizer *o, guarded_fn fn, void *arg, char *msg, size_t msg_len)
{
    jmp_buf jb;
    volatile int rv;
    glpk_msg[0] = '\0';
    if (setjmp(jb) == 0) {
        guard_jmp = &jb;
        glp_term_out(GLP_ON);
        glp_term_hook(term_hook, NULL);
        glp_error_hook(error_hook, NULL);
        rv = fn(o, arg);
        glp_error_hook(NULL, NULL);
    } else {
        /* The problem object and all GLPK state of this thread are now
         * invalid; freeing the environment is the documented recovery. */
        glp_free_env();
        env_epoch++;
        o->lp = NULL;
        o->has_basis = 0;
        rv = GUARD_FATAL;
    }
    guard_jmp = NULL;
    if (msg != NULL)
        glpk_message(msg, msg_len);
    free(o->tmp_ia);
    free(o->tmp_ja);
    free(o->tmp_ar);
    o->tmp_ia = o->tmp_ja = NULL;
    o->tmp_ar = NULL;
    slate_solution_free(o->pending);
    o->pending = NULL;
    return rv;
}

static int build_fn(slate_optimizer *o, void *arg)
{
    (void)arg;
    int rv = slate_opt_build_lp(o);
    if (rv == SLATE_OK)
        o->lp_env_epoch = env_epoch;
    return rv;
}

void slate_opt_register(void);
void slate_opt_unregister(slate_optimizer *o);
int slate_opt_build_guarded(slate_optimizer *o, slate_diag *diag);
void slate_opt_free_model(slate_optimizer *o);

void slate_opt_register(void)
{
    live_optimizers++;
}

int slate_opt_build_guarded(slate_optimizer *o, slate_diag *diag)
{
    char msg[GLPK_MSG_MAX];
    int rv = guarded(o, build_fn, NULL, msg, sizeof(msg));
    if (rv == GUARD_FATAL) {
        /* During a build a fatal GLPK error is its allocator failing. */
        slate_diag_add(diag, SLATE_ERR_NOMEM, NULL, "GLPK failed building the LP: %s", msg);
        return SLATE_ERR_NOMEM;
    }
    if (rv != SLATE_OK)
        slate_diag_add(diag, rv, NULL, "building the LP: %s", slate_strerror(rv));
    return rv;
}

void slate_optimizer_free(slate_optimizer *o)
{
    if (o == NULL)
        return;
    if (lp_valid(o))
        glp_delete_prob(o->lp);
    o->lp = NULL;
    /* The last optimizer of the thread releases GLPK's environment too, so
     * nothing of GLPK outlives the optimizers (and leak checkers agree). */
    if (live_optimizers > 0 && --live_optimizers == 0) {
        glp_free_env();
        env_epoch++;
    }
    slate_opt_free_model(o);
}

void slate_optimizer_reset_basis(slate_optimizer *o)
{
    if (o != NULL)
        o->has_basis = 0;
}

/* ---- solving -------------------------------------------------------------------- */

typedef struct solve_ctx {
    double deadline_ms; /* on slate_clock_ms */
    int it_left;        /* simplex iterations left in this solve */
    int warm;           /* the solve started from a previous basis */
    int glp_ret;        /* the last GLPK return code */
    const char *stage;  /* what ran last, for messages */
    double solver_ms;   /* time spent inside GLPK's solvers */
    int iterations;
    int cg_rounds; /* column generation: pricing rounds */
    int cg_freed;  /* column generation: arcs freed by pricing */
} solve_ctx;

/* Milliseconds left before the deadline, at least 1 (GLPK's tm_lim is int). */
static int ms_left(const solve_ctx *c)
{
    double left = c->deadline_ms - slate_clock_ms();
    if (left < 1)
        return 1;
    return left > 2e9 ? 2000000000 : (int)ceil(left);
}

static int run_simplex(slate_optimizer *o, solve_ctx *c, int meth, int presolve, const char *stage)
{
    glp_smcp p;
    glp_init_smcp(&p);
    p.msg_lev = GLP_MSG_ERR;
    p.meth = meth;
    p.presolve = presolve ? GLP_ON : GLP_OFF;
    p.tm_lim = ms_left(c);
    p.it_lim = c->it_left;
    int it0 = glp_get_it_cnt(o->lp);
    double t0 = slate_clock_ms();
    c->glp_ret = glp_simplex(o->lp, &p);
    c->solver_ms += slate_clock_ms() - t0;
    int done = glp_get_it_cnt(o->lp) - it0;
    if (done > 0) {
        c->iterations += done;
        c->it_left = c->it_left > done ? c->it_left - done : 1;
    }
    c->stage = stage;
    return c->glp_ret;
}

/* A simplex run's outcome as a slate_err. */
static int simplex_result(const slate_optimizer *o, const solve_ctx *c)
{
    switch (c->glp_ret) {
    case 0:
        break;
    case GLP_ETMLIM:
    case GLP_EITLIM:
        return SLATE_ERR_SOLVE_LIMIT;
    case GLP_ENOPFS:
        return SLATE_ERR_INFEASIBLE;
    default:
        return SLATE_ERR_SOLVE_FAILED;
    }
    int st = glp_get_status(o->lp);
    if (st == GLP_OPT)
        return SLATE_OK;
    if (st == GLP_NOFEAS)
        return SLATE_ERR_INFEASIBLE;
    return SLATE_ERR_SOLVE_FAILED;
}

int slate_opt_crash_basis(slate_optimizer *o);

/* Defined in optimizer_pricing.c. */
int slate_opt_cg_active(const slate_optimizer *o);
int slate_opt_cg_restrict(slate_optimizer *o);
int slate_opt_cg_price(slate_optimizer *o, int *freed);
int slate_opt_cg_free_all(slate_optimizer *o);

static int is_basis_problem(int ret)
{
    return ret == GLP_EBADB || ret == GLP_ESING || ret == GLP_ECOND;
}

/* Cold solve by simplex: GLPK's presolver shrinks the LP (it removes the
 * fixed-zero load rows' substitutions, empty demand rows, ...) and hands the
 * optimal basis back to the original problem for later warm starts. */
static int cold_simplex(slate_optimizer *o, solve_ctx *c, int meth)
{
    glp_std_basis(o->lp);
    run_simplex(o, c, meth, 1, meth == GLP_PRIMAL ? "cold primal simplex" : "cold dual simplex");
    if (c->glp_ret == GLP_ENOPFS || c->glp_ret == GLP_ENODFS) {
        /* The presolver proved (in)feasibility without a basis; confirm it
         * without presolve so the status and the basis are GLPK's own. */
        glp_std_basis(o->lp);
        run_simplex(o, c, meth, 0, "cold simplex without presolve");
    }
    return simplex_result(o, c);
}

/*
 * The default cold solve: the primal simplex, presolve off, from the basis
 * optimizer_crash.c builds out of the default routing (local, else nearest).
 * Measured on this machine class (Release): 10 clusters x 10 classes x
 * caterpillar depth 6 (2,091 rows, 21,470 columns) 0.23 s and 1,207 pivots,
 * against 2.3 s and 12,385 pivots for the dual simplex with presolve from
 * GLPK's standard basis, 5.4 s for the primal simplex with presolve, and
 * 0.52 s for glp_interior (0.27 s, which stopped on numerical instability
 * near the optimum) followed by the same crash basis guided by its
 * solution, as a crossover. The interior point's guidance did not save
 * pivots, and glp_interior cannot be given a time limit.
 */
static int cold_crash(slate_optimizer *o, solve_ctx *c)
{
    /* Column generation starts from the candidate arcs (before the crash
     * basis, which makes some of them basic). */
    if (slate_opt_cg_active(o))
        slate_opt_cg_restrict(o);
    int rv = slate_opt_crash_basis(o);
    if (rv != SLATE_OK)
        return rv;
    run_simplex(o, c, GLP_PRIMAL, 0, "cold primal simplex from the default routing");
    if (is_basis_problem(c->glp_ret)) {
        /* Not expected (the crash basis is triangular); GLPK's own then. */
        glp_adv_basis(o->lp, 0);
        run_simplex(o, c, GLP_PRIMAL, 0, "cold primal simplex from GLPK's basis");
    }
    return simplex_result(o, c);
}

/*
 * The cold solve of the decomposition (optimizer_decomp.c). The master is
 * rebuilt with only the default routing's strategies, so a cold solve owes
 * nothing to earlier ones, and solved in two stages:
 *  1. coarse: pairs of consecutive PWL pieces act as one piece, the chord
 *     of the PWL over both (pwl_group 2): from the triangular basis of the
 *     default strategies, the primal simplex and the strategy pricing run
 *     to the optimum of that coarser LP;
 *  2. exact: slate_opt_dw_refine restores the PWL's own pieces keeping
 *     every load and the basis' shape, and the primal simplex (then
 *     price_and_resolve in solve_fn) continues to the optimum of the LP.
 * Stage 1 only chooses where stage 2 starts. Why: most of the primal
 * simplex's pivots move a load across a breakpoint of the PWL, one
 * breakpoint per pivot; with half the breakpoints the long way from the
 * default routing (hot clusters overloaded) takes far fewer, and the
 * coarse optimum's loads are close to the exact ones. Measured (Release,
 * random 100 services x 50 classes x 10 clusters): 34,578 pivots, 13 s in
 * one stage; 12,727 pivots, 2.8 s with pairs first; 14,496 pivots, 3.1 s
 * with groups of 4, then 2, then 1.
 */
#define DW_COARSE_GROUP 2

static int price_and_resolve(slate_optimizer *o, solve_ctx *c, int rv);

static int cold_decomposed(slate_optimizer *o, solve_ctx *c)
{
    if (o->lp != NULL)
        glp_delete_prob(o->lp);
    o->lp = NULL;
    o->pwl_group = DW_COARSE_GROUP;
    int rv = build_fn(o, NULL);
    if (rv == SLATE_OK)
        rv = slate_opt_dw_crash(o);
    if (rv == SLATE_OK) {
        run_simplex(o, c, GLP_PRIMAL, 0, "cold primal simplex on the coarse PWL");
        if (is_basis_problem(c->glp_ret)) {
            /* Not expected (the crash basis is triangular); GLPK's own then. */
            glp_adv_basis(o->lp, 0);
            run_simplex(o, c, GLP_PRIMAL, 0, "cold primal simplex from GLPK's basis");
        }
        rv = price_and_resolve(o, c, simplex_result(o, c));
    }
    if (rv == SLATE_OK) {
        slate_opt_dw_refine(o, 1);
        run_simplex(o, c, GLP_PRIMAL, 0, "primal simplex after refining the PWL");
        rv = simplex_result(o, c);
    }
    if (o->pwl_group != 1) {
        /* Failed in the coarse stage: whatever comes next (a rebuild, a
         * warm solve, write_lp) must see the PWL's own pieces. */
        o->pwl_group = 1;
        if (o->lp != NULL)
            for (size_t i = 0; i < o->ns * o->nc; i++)
                if (o->dep[i])
                    slate_opt_set_profile_cols(o, i);
    }
    return rv;
}

/* The default method's cold solve. */
static int cold_auto(slate_optimizer *o, solve_ctx *c)
{
    return o->decomposed ? cold_decomposed(o, c) : cold_crash(o, c);
}

/*
 * Column generation's outer loop (optimizer_pricing.c explains why its end
 * is optimal for the full LP): |rv| is the result of solving the restricted
 * LP; while it is optimal and some fixed arc prices out, free those arcs and
 * continue with the primal simplex from the same (still primal feasible)
 * basis. The rounds share the solve's deadline and iteration budget.
 */
static int price_and_resolve(slate_optimizer *o, solve_ctx *c, int rv)
{
    for (;;) {
        if (rv == SLATE_ERR_INFEASIBLE && o->decomposed) {
            /* The master holds every (k, a)'s least-egress strategy, so
             * it is infeasible only when the LP is (optimizer_decomp.c). */
            return rv;
        }
        if (rv == SLATE_ERR_INFEASIBLE) {
            /* The restricted LP may be infeasible (an egress budget the
             * candidate arcs cannot meet) where the full LP is not: decide
             * on the full LP, from the current basis. */
            if (slate_opt_cg_free_all(o) == 0)
                return rv;
            run_simplex(o, c, GLP_PRIMAL, 0, "primal simplex over all arcs");
            return simplex_result(o, c);
        }
        if (rv != SLATE_OK)
            return rv;
        int freed = 0;
        rv = o->decomposed ? slate_opt_dw_price(o, &freed) : slate_opt_cg_price(o, &freed);
        if (rv != SLATE_OK)
            return rv;
        c->cg_rounds++;
        c->cg_freed += freed;
        if (freed == 0)
            return SLATE_OK;
        if (slate_clock_ms() >= c->deadline_ms || c->iterations >= o->opts.iteration_limit) {
            c->stage = "column generation";
            return SLATE_ERR_SOLVE_LIMIT;
        }
        run_simplex(o, c, GLP_PRIMAL, 0,
                    o->decomposed ? "primal simplex after pricing strategies"
                                  : "primal simplex after pricing arcs");
        rv = simplex_result(o, c);
    }
}

static int interior(slate_optimizer *o, solve_ctx *c)
{
    glp_iptcp p;
    glp_init_iptcp(&p);
    p.msg_lev = GLP_MSG_ERR;
    p.ord_alg = GLP_ORD_AMD;
    double t0 = slate_clock_ms();
    c->glp_ret = glp_interior(o->lp, &p);
    c->solver_ms += slate_clock_ms() - t0;
    c->stage = "interior point";
    switch (c->glp_ret) {
    case 0:
        break;
    case GLP_EITLIM:
        return SLATE_ERR_SOLVE_LIMIT;
    default:
        return SLATE_ERR_SOLVE_FAILED;
    }
    int st = glp_ipt_status(o->lp);
    if (st == GLP_OPT)
        return SLATE_OK;
    return st == GLP_NOFEAS ? SLATE_ERR_INFEASIBLE : SLATE_ERR_SOLVE_FAILED;
}

static int solve_fn(slate_optimizer *o, void *arg)
{
    solve_ctx *c = arg;
    int rv;
    o->pwl_group = 1; /* a GLPK fatal error may have ended a coarse stage */
    if (!lp_valid(o)) {
        rv = build_fn(o, NULL);
        if (rv != SLATE_OK)
            return rv;
    }
    rv = slate_opt_apply_changes(o);
    if (rv != SLATE_OK)
        return rv;

    int from_ipt = 0;
    c->warm = o->has_basis && o->opts.method != SLATE_LP_INTERIOR;
    if (c->warm) {
        /* The objective rarely changes between periods (demand moves
         * bounds), so the previous basis stays dual feasible and the dual
         * simplex repairs primal feasibility in few pivots; GLP_DUALP falls
         * back to the primal simplex when it is not. Presolve is off: it
         * would discard the basis. */
        run_simplex(o, c, GLP_DUALP, 0, "warm dual simplex");
        if (is_basis_problem(c->glp_ret)) {
            /* Coefficient changes made the old basis singular: start over. */
            c->warm = 0;
            rv = o->opts.method == SLATE_LP_SIMPLEX ? cold_simplex(o, c, GLP_PRIMAL)
                                                    : cold_auto(o, c);
        } else {
            rv = simplex_result(o, c);
        }
    } else if (o->opts.method == SLATE_LP_INTERIOR) {
        rv = interior(o, c);
        from_ipt = 1;
    } else if (o->opts.method == SLATE_LP_SIMPLEX) {
        rv = cold_simplex(o, c, GLP_PRIMAL);
    } else {
        rv = cold_auto(o, c);
    }
    if (!from_ipt && slate_opt_cg_active(o))
        rv = price_and_resolve(o, c, rv);
    /* A limit or failure leaves GLPK's basis valid (a basis, if not the
     * optimal one) unless the basis itself was the problem. */
    if (rv != SLATE_OK) {
        if (is_basis_problem(c->glp_ret))
            o->has_basis = 0;
        return rv;
    }

    o->last_from_ipt = from_ipt;
    rv = slate_opt_extract_solution(o, &o->pending);
    if (rv != SLATE_OK)
        return rv;
    o->pending->warm = c->warm;
    o->pending->solve_ms = c->solver_ms;
    o->pending->iterations = c->iterations;
    o->pending->cg_rounds = c->cg_rounds;
    o->pending->cg_arcs_freed = c->cg_freed;
    slate_solution_free(o->sol);
    o->sol = o->pending;
    o->pending = NULL;
    o->has_basis = !from_ipt;
    return SLATE_OK;
}

int slate_optimizer_solve(slate_optimizer *o, slate_diag *diag)
{
    if (o == NULL)
        return SLATE_ERR_INVALID_ARG;
    solve_ctx c;
    memset(&c, 0, sizeof(c));
    c.deadline_ms = slate_clock_ms() + o->opts.time_limit_ms;
    c.it_left = o->opts.iteration_limit;
    c.stage = "building the LP";
    char msg[GLPK_MSG_MAX];
    int rv = guarded(o, solve_fn, &c, msg, sizeof(msg));
    switch (rv) {
    case SLATE_OK:
        break;
    case GUARD_FATAL:
        slate_diag_add(diag, SLATE_ERR_SOLVE_FAILED, NULL,
                       "GLPK fatal error during %s: %s; the LP is rebuilt at the next solve, "
                       "the previous solution stays",
                       c.stage, msg);
        rv = SLATE_ERR_SOLVE_FAILED;
        break;
    case SLATE_ERR_SOLVE_LIMIT:
        slate_diag_add(diag, rv, NULL,
                       "%s stopped at its limit (%g ms, %d iterations); the previous "
                       "solution stays",
                       c.stage, o->opts.time_limit_ms, o->opts.iteration_limit);
        break;
    case SLATE_ERR_INFEASIBLE:
        slate_diag_add(diag, rv, NULL,
                       "%s: the LP is infeasible (the egress budget cannot carry the "
                       "demand); the previous solution stays",
                       c.stage);
        break;
    default:
        slate_diag_add(diag, rv, NULL, "%s failed (GLPK code %d)%s%s; the previous solution stays",
                       c.stage, c.glp_ret, msg[0] ? ": " : "", msg);
        break;
    }
    return rv;
}

static int write_fn(slate_optimizer *o, void *arg)
{
    return glp_write_lp(o->lp, NULL, (const char *)arg) == 0 ? SLATE_OK : SLATE_ERR_IO;
}

int slate_optimizer_write_lp(const slate_optimizer *o, const char *path)
{
    if (o == NULL || path == NULL)
        return SLATE_ERR_INVALID_ARG;
    if (!lp_valid(o))
        return SLATE_ERR_IO;
    /* guarded() only touches the scratch fields and, after a fatal error,
     * forgets the problem object: the model itself is not changed. */
    int rv = guarded((slate_optimizer *)o, write_fn, (void *)path, NULL, 0);
    return rv == GUARD_FATAL ? SLATE_ERR_IO : rv;
}
