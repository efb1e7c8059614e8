// placeholder: replaced by the stage shim
int main() { return 0; }
