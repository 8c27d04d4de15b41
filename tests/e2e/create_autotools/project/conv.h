namespace conv {
class Scaler {
 public:
  explicit Scaler(int factor) : factor_(factor) {}
  int apply(int x) const;

 private:
  int factor_;
};
}  // namespace conv
