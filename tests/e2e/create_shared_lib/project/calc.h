extern int calc_bias;
int calc(int x);
int calc_calls(void);
int calc_twice(int x);
