// Clang's thread safety analysis attributes
// (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html), as macros that
// expand to nothing on compilers without them (gcc): there they are
// documentation, under clang they are checked (-Wthread-safety; the
// LSMD_THREAD_SAFETY build and the thread-safety stage of scripts/test.sh
// make every finding an error).
//
// How the engine uses them:
//   Mutex mu_;                                  a capability (core/mutex.h)
//   int count_ GUARDED_BY(mu_);                 read or written only holding mu_
//   std::string* p_ PT_GUARDED_BY(mu_);         *p_ only holding mu_
//   void Helper() REQUIRES(mu_);                callers hold mu_
//   void Public() EXCLUDES(mu_);                callers must not hold it (it locks mu_)
//   void Unsafe() NO_THREAD_SAFETY_ANALYSIS;    unchecked: say why next to it
//
// The analysis follows lock and unlock calls on annotated types only
// (Mutex, MutexLock, CondVar); it cannot see std::unique_lock or a
// std::condition_variable waiting on one, which is why core/ uses the
// wrappers in core/mutex.h.
#pragma once

#if defined(__clang__) && defined(__has_attribute)
#if __has_attribute(capability)
#define LSMD_THREAD_ANNOTATION(x) __attribute__((x))
#endif
#endif
#ifndef LSMD_THREAD_ANNOTATION
#define LSMD_THREAD_ANNOTATION(x)
#endif

// On a class: its objects are capabilities (x names the kind in diagnostics,
// e.g. "mutex").
#define CAPABILITY(x) LSMD_THREAD_ANNOTATION(capability(x))
// On a class: RAII objects that hold a capability for their lifetime.
#define SCOPED_CAPABILITY LSMD_THREAD_ANNOTATION(scoped_lockable)

// On a data member: accessed only while holding the capability.
#define GUARDED_BY(x) LSMD_THREAD_ANNOTATION(guarded_by(x))
// On a pointer member: what it points to is accessed only while holding it.
#define PT_GUARDED_BY(x) LSMD_THREAD_ANNOTATION(pt_guarded_by(x))

// On a capability member: the lock order. Checked under
// -Wthread-safety-beta, which LSMD_THREAD_SAFETY turns on.
#define ACQUIRED_BEFORE(...) LSMD_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) LSMD_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))

// On a function: the caller holds the capability (exclusively, or at least
// shared) when calling, and still holds it on return.
#define REQUIRES(...) LSMD_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) LSMD_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))

// On a function: it acquires (releases) the capability; without arguments,
// on a member function of a capability class, the object itself.
#define ACQUIRE(...) LSMD_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) LSMD_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) LSMD_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) LSMD_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define RELEASE_GENERIC(...) LSMD_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
// Acquires it if the function returns the first argument (true or false).
#define TRY_ACQUIRE(...) LSMD_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define TRY_ACQUIRE_SHARED(...) LSMD_THREAD_ANNOTATION(try_acquire_shared_capability(__VA_ARGS__))

// On a function: the caller must not hold the capability (the function
// takes it itself, and the locks are not recursive).
#define EXCLUDES(...) LSMD_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

// On a function: checks at run time that the capability is held, and from
// there on the analysis assumes it is.
#define ASSERT_CAPABILITY(x) LSMD_THREAD_ANNOTATION(assert_capability(x))
#define ASSERT_SHARED_CAPABILITY(x) LSMD_THREAD_ANNOTATION(assert_shared_capability(x))

// On a function: it returns a reference to the capability.
#define RETURN_CAPABILITY(x) LSMD_THREAD_ANNOTATION(lock_returned(x))

// On a function: the analysis skips its body. Each use says why.
#define NO_THREAD_SAFETY_ANALYSIS LSMD_THREAD_ANNOTATION(no_thread_safety_analysis)
