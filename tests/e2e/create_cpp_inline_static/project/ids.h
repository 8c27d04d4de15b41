// One counter for the whole program: the static of an inline function is one
// object however many files instantiate the function.
inline int next_id() {
  static int last = 0;
  return ++last;
}
int id_from_ids();
int compute(int x);
