package io.whatssound.realtime.operator.kube;

import io.fabric8.kubernetes.client.KubernetesClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * A test class on the control plane every class of the JVM shares ({@link ControlPlane#shared()}), with the committed
 * CRDs applied and an admin client.
 */
@RealApiServer
abstract class SharedControlPlane {
  static ControlPlane cp;
  static KubernetesClient admin;

  @BeforeAll
  static void controlPlane() {
    cp = ControlPlane.shared();
    admin = cp.admin();
    cp.applyCrds();
  }

  @AfterAll
  static void closeAdmin() {
    if (admin != null) {
      admin.close();
    }
  }
}
