/* Defines std::ios_base_library_init(), the iostream start-up hook that GCC 13's libstdc++ (GLIBCXX_3.4.32) added.
 * TorchSharp 0.107's libLibTorchSharp.so was linked against GCC 13 and references it; on an older libstdc++
 * (Debian 12 and Ubuntu 22.04 stop at GLIBCXX_3.4.30) the hook does not exist, and its work (constructing
 * std::cout and friends) is already done by that libstdc++'s own static initialiser, so an empty body is right.
 * patch-libtorchsharp.sh builds this into libios_base_library_init.so and adds it to the library's NEEDED list. */
void mlnet_ios_base_library_init(void) __asm__("_ZSt21ios_base_library_initv");
void mlnet_ios_base_library_init(void) {}
