# gild stand-in for start.ps1, so this pipeline builds on the embedded simulator.
# Replace it with start.ps1 from https://github.com/microsoft/SDN/tree/master/Kubernetes/flannel and regenerate SHA256SUMS.
throw 'gild stand-in: replace C:\k\start.ps1 with the Microsoft SDN start.ps1'
