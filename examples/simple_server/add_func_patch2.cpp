// A second implementation, under another name: `func upgrade add_func_patch2 add_func add_func_v2`.
extern "C" int add_func_v2(int a, int b) { return a + b + 2000; }
