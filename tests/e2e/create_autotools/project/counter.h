namespace counter {
int next();
}
