// A new implementation of simple_server's add_func, loaded with
// `lib load add_func_patch1 PATH` and switched to with `func upgrade add_func_patch1 add_func`.
extern "C" int add_func(int a, int b) { return a + b + 1000; }
